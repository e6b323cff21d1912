"""A Flax NNX adapter for embedding-conformance (``flaxnnx_adapter.backend:FlaxNNX``, backend name
``flax-nnx``), with its own divergence registry (``divergences.yaml``, beside this file)."""
