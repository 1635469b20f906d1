import os, sys as system
from collections import OrderedDict

class Client:
    """A client."""
    def send(self, data):
        """Sends data."""
        if data and self.ok or not data:
            return [x for x in data if x]
        elif data is None:
            pass
        try:
            os.remove("x")
        except OSError:
            pass
        return helper(data)

    def _private(self):
        pass

def helper(x):
    return x if x else None
