"""resp.py: a raw RESP2/RESP3 client for the differential tests.

Raw sockets rather than a client library, so that the comparison sees
exactly what the server sent: a status (+OK) is not a bulk "OK", an error's
full text is compared, RESP3 types (map, set, double, null, push) stay
distinct. Replies parse into tagged tuples:

    ('+', 'OK')  ('-', 'ERR ...')  (':', 42)  ('$', b'bytes')  ('$', None)
    ('*', [..])  ('*', None)  ('%', [(k, v), ...])  ('~', [..])  (',', '1.5')
    ('_', None)  ('#', True)  ('=', b'txt:...')  ('>', [..])  ('(', '123')
"""
import socket


class ConnectionClosed(Exception):
    pass


def encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, (int, float)):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    def __init__(self, port, host="127.0.0.1", timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def send_raw(self, data):
        self.sock.sendall(data)

    def call(self, *args):
        self.send_raw(encode(args))
        return self.read()

    def _fill(self):
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise ConnectionClosed()
        self.buf += chunk

    def _line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2:]
                return line
            self._fill()

    def _exact(self, n):
        while len(self.buf) < n + 2:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def read(self):
        line = self._line()
        t, rest = chr(line[0]), line[1:]
        if t == "+":
            return ("+", rest.decode("latin1"))
        if t == "-":
            return ("-", rest.decode("latin1"))
        if t == ":":
            return (":", int(rest))
        if t == "(":
            return ("(", rest.decode())
        if t == ",":
            return (",", rest.decode())
        if t == "#":
            return ("#", rest == b"t")
        if t == "_":
            return ("_", None)
        if t in "$=!":
            n = int(rest)
            if n < 0:
                return (t, None)
            return ("$" if t == "!" else t, self._exact(n))
        if t in "*~>":
            n = int(rest)
            if n < 0:
                return (t, None)
            return (t, [self.read() for _ in range(n)])
        if t == "%" or t == "|":
            n = int(rest)
            items = [(self.read(), self.read()) for _ in range(n)]
            if t == "|":  # an attribute: the real reply follows
                return self.read()
            return ("%", items)
        raise ValueError("bad RESP type byte %r in %r" % (t, line))

    def is_closed(self, wait=2.0):
        """True if the server closed the connection (EOF) within wait s."""
        self.sock.settimeout(wait)
        try:
            if self.buf:
                return False
            chunk = self.sock.recv(1)
            if chunk:
                self.buf += chunk
                return False
            return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
        finally:
            self.sock.settimeout(10.0)
