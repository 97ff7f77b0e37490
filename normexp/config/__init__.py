"""Config: a YAML study → validated, frozen dataclasses, before TensorFlow loads.

``study.load_study(path)`` is the entry; the registries of names a config may use
(``families``, ``norms``, ``optimizers``, ``datasets``) live here too, as data, so that
every check runs at load. Imports only the shared modules (``normexp.errors`` …).
"""
