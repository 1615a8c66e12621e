"""The nets and their accounting: specs and presets, blocks, the ResNet module, build, the meta-device tracer, choices,
comparisons, and the DenseNet of the tour. Knows nothing of graphs, images, the lab or streamlit."""
