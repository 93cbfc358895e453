"""Model families, one file each: ``autoencoder``, ``vae``, ``gan``, ``cvae``, ``vaegan``.

Each module declares its families (how each is built, trained, fed and sampled) in a
``FAMILIES`` dict; :mod:`genai_tf.models.registry` lists them, and the command line, the
benchmarks, checkpoints, the training module and the notebooks read them from there::

    from genai_tf.models import registry
    dcgan = registry.family("dcgan")
    model = dcgan.build(image_shape, dcgan.latent_dim, seed=0)

Importing this package imports neither TensorFlow nor the model modules.
"""
