"""A test plugin for worker environments: its scorer declares a pin that the test environment does not meet."""
