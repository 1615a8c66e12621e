"""Images and what a net sees in them: loading, preprocessing, activations, Grad-CAM, weights, samples."""
