"""Store: the run store on disk (one folder per run, JSON, atomic) and TensorBoard files.

The contract between training and the report; imports only the shared modules.
"""
