"""bakegen's version: written into banners and every target's inputs."""

__version__ = "0.1.0"
