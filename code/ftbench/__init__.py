"""ftbench: LoRA on ViTs and CNNs versus classifier-only, full and from-scratch training.

Data flow: config -> data + models -> train -> runs (JSON) -> report (CSV, LaTeX, figures) -> paper.
"""

__version__ = "0.1.0"
