"""Helpers of the command line (simulate.py): argument types, tables, the calibration commands."""
