"""chatkit: the helper package of a hands-on course in real-time communication.

Each module holds one idea and says which notebook introduces it:

- ``running``   run servers inside the notebook's event loop (notebook 01)
- ``websocket`` a browser-style WebSocket client and tiny servers (notebook 01)
- ``polling``   HTTP polling versus WebSocket push, measured (notebook 00)
- ``exercises`` the check functions of each notebook's exercise
"""

__version__ = "0.1.0"
