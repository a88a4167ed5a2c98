"""The faces users touch: the command line, the REPL, the demo, `rasp check`, rasp.faces.testing, the pytest plugin."""
