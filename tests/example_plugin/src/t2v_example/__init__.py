"""An example t2v plugin: the smallest complete plugin, used by the core's tests and the plugin guide."""
