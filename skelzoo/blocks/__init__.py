"""Small building blocks shared by the backbones."""
