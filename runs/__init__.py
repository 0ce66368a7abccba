"""The runs layer: run one model, run many, and write what they give (outputs, figures, provenance)."""
