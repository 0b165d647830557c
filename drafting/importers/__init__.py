"""drafting/importers"""
