"""Shape completion from partial scans: partial views of shapes, completion with conditional and
unconditional models, and the completion metrics of PVD's protocol."""
