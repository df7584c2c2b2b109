"""Layer 5, faces: what a person runs and reads.

The command line (``cli``), the story told by ``neuromorph demo`` (``story``, ``demo``) and
every figure, drawn once (``plots``), and the text tables and report folders of the studies
(``reports``).  May import every layer below; nothing imports it
except scripts, notebooks and examples.
"""
