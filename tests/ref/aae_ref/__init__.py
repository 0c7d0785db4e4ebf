"""NumPy references for the AAE tests, written from the specifications
(DESIGN.md, the safetensors format, the Hugging Face transformers model semantics) and
independent of the C code they check. See docs/testing.md."""
