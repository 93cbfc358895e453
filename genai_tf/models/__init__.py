"""Model families, one file each (the registry's ``FAMILY_MODULES`` names them all), the model base
class with the one weight-update helper every ``train_step`` uses (``base``), the family registry,
and the networks more than one family shares (``networks``, ``unet``, ``char_lm``).

Each module declares its families (how each is built, trained, fed and sampled) in a
``FAMILIES`` dict; :mod:`genai_tf.models.registry` lists them, and the command line, the
benchmarks, checkpoints, the training module and the notebooks read them from there::

    from genai_tf.models import registry
    dcgan = registry.family("dcgan")
    model = dcgan.build(image_shape, dcgan.latent_dim, seed=0)

Importing this package imports neither TensorFlow nor the model modules.
"""
