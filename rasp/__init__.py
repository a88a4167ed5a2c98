"""lengthwise: RASP programs, interpreted, compiled and studied."""

__version__ = "0.1.0"
