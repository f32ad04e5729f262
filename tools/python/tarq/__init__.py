"""TARQ tools in Python: the safetensors reader/writer and the TARQ model-file layer (numpy only).

The submodules are not imported here, so that ``python3 -m tarq.safetensors_np`` and
``python3 -m tarq.model_file`` run without the "found in sys.modules" warning of runpy.
"""

__version__ = "0.1.0.dev0"
