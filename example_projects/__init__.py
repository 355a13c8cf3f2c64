"""Small example apps, one per framework, that send analytics to the local collector."""
