"""The nets and their accounting: specs and presets, blocks, the ResNet module, build, the meta-device tracer, choices,
comparisons, the DenseNet of the tour, and a checkpoint file read back into a spec. Knows nothing of graphs, images,
the lab or streamlit."""
