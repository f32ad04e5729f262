"""The TARQ trainer on PyTorch: the contract's networks (:mod:`.model`), its loss (:mod:`.losses`), the training
loop with DDP support (:mod:`.trainer`), metrics, export to the engine's model file (:mod:`.export`) and the command
line (``python3 -m tarq.train``, run by ``./tarq train``)."""
