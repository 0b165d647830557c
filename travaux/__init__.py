"""The travaux command line: the entry point that ties the packages together."""
