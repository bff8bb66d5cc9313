"""asymptotics: exact high-dimensional theory of linearized neural networks."""
__version__ = "0.1.0"
