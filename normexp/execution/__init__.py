"""Execution: where runs execute (local worker processes, or Ray tasks), in cost order.

Only this layer's driver process stores results (``normexp.store``) as they arrive.
"""
