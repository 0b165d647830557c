"""crdt_sync"""
