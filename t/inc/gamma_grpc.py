#!/usr/bin/python3
"""gRPC servers and a gRPC client for the GRPCRoute suites (t/07x-*.t).

Run with Debian's /usr/bin/python3 and python3-grpcio; no generated code:
the servers use generic handlers and raw bytes, the client calls methods
by name.  One process holds both halves:

  servers   --server NAME=ADDR:PORT (repeatable): a gRPC server per address.
            Any method of any service is answered; the method's name says
            how: "...Stream" is server-streaming (n messages, n from the
            request body, default 3), "...Bidi" echoes each message it gets
            as soon as it gets it, anything else is unary.  A unary answer
            is text: "server NAME", "path /pkg.Svc/Method", "authority A",
            then "md key: value" for each request metadata entry starting
            with "x-".  Every call sends the initial metadata
            "x-backend: NAME" and "x-drop: me" (for response filters) and
            the trailing metadata "x-served-by: NAME".  A method named
            "Fail..." answers UNAVAILABLE with the message "backend says no".

  gateway   --gateway ADDR:PORT: an HTTP/1.1 server the .t files talk to
            through nginx ("--- request GET /grpc/call?..."), which makes the
            gRPC calls and answers with what happened, as text:

    /call?to=HOST:PORT&method=/pkg.Svc/M[&md=k:v]...[&n=N][&chan=ID]
         [&expect=NAME:W,NAME:W&tol=0.05]
        N unary calls on one channel (a named channel stays open across
        requests).  N = 1: "code OK" (or the code and "details ..."), the
        unary answer, "initial k: v" and "trailing k: v" for x- metadata.
        N > 1: "calls N", "code OK N" per code, and with expect= one line
        per server: "NAME within 5% of W%" or "NAME got C of N".
    /stream?to&method&n=N   a server-streaming call: one line per message
    /bidi?to&method&n=N     a bidi call sending message i only after the
                            echo of i-1 came back: one line per echo
    /change?to&method&chan=ID&src=FILE&dst=FILE
        a call, then FILE src renamed over dst (a manifest edit), then the
        same call on the same channel every 50 ms until the answering
        server changes (at most 5 s): "before NAME", "after NAME",
        "same connection yes|no" (by the x-conn initial metadata nginx adds).
"""

import argparse
import http.server
import os
import queue
import socketserver
import sys
import threading
import time
import urllib.parse
from concurrent import futures

import grpc


# ---- servers ---------------------------------------------------------------

SEEN = {}
SEEN_LOCK = threading.Lock()


class Backend(grpc.GenericRpcHandler):

    def __init__(self, name):
        self.name = name
        SEEN[name] = []

    def service(self, details):
        method = details.method.rsplit('/', 1)[-1]

        if method.endswith('Stream'):
            return grpc.unary_stream_rpc_method_handler(self.stream)
        if method.endswith('Bidi'):
            return grpc.stream_stream_rpc_method_handler(self.bidi)
        return grpc.unary_unary_rpc_method_handler(self.unary)

    def head(self, context):
        context.send_initial_metadata((('x-backend', self.name),
                                       ('x-drop', 'me')))
        context.set_trailing_metadata((('x-served-by', self.name),))

    def unary(self, request, context):
        # the call's :authority; grpcio keeps it in the call details only
        host = context._rpc_event.call_details.host
        host = host.decode() if isinstance(host, bytes) else str(host)
        path = context._rpc_event.call_details.method
        path = path.decode() if isinstance(path, bytes) else str(path)

        if path.rsplit('/', 1)[-1].startswith('Fail'):
            context.abort(grpc.StatusCode.UNAVAILABLE, 'backend says no')

        self.head(context)

        lines = ['server ' + self.name, 'path ' + path, 'authority ' + host]
        lines += sorted('md %s: %s' % (k, v)
                        for k, v in context.invocation_metadata()
                        if k.startswith('x-'))

        with SEEN_LOCK:
            SEEN[self.name].append(' '.join(lines[1:]))
        return ('\n'.join(lines) + '\n').encode()

    def stream(self, request, context):
        self.head(context)
        n = int(request.decode() or '3')
        for i in range(n):
            yield ('%s message %d of %d' % (self.name, i + 1, n)).encode()

    def bidi(self, requests, context):
        self.head(context)
        for msg in requests:
            yield ('%s echoes %s' % (self.name, msg.decode())).encode()


def start_server(name, addr):
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8),
                         handlers=(Backend(name),),
                         options=(('grpc.so_reuseport', 1),))
    if server.add_insecure_port(addr) == 0:
        sys.exit('gamma_grpc: cannot listen on %s' % addr)
    server.start()
    return server


# ---- client ----------------------------------------------------------------

CHANNELS = {}
CHANNELS_LOCK = threading.Lock()


def channel(to, chan):
    if not chan:
        return grpc.insecure_channel(to), True

    with CHANNELS_LOCK:
        key = (to, chan)
        if key not in CHANNELS:
            CHANNELS[key] = grpc.insecure_channel(to)
        return CHANNELS[key], False


def metadata(q):
    md = []
    for kv in q.get('md', []):
        k, v = kv.split(':', 1)
        md.append((k.strip().lower(), v.strip()))
    return md


def md_lines(prefix, md):
    # sorted: the order of response headers is not what a test checks
    return sorted('%s %s: %s' % (prefix, k, v) for k, v in (md or ())
                  if k.startswith('x-') and k != 'x-conn')


def unary(ch, method, md, timeout=5):
    call = ch.unary_unary(method)
    try:
        body, c = call.with_call(b'', metadata=md, timeout=timeout)
        return 'OK', body.decode(), c.initial_metadata(), \
            c.trailing_metadata(), ''
    except grpc.RpcError as e:
        return e.code().name, '', e.initial_metadata(), \
            e.trailing_metadata(), e.details() or ''


def server_of(body):
    for line in body.splitlines():
        if line.startswith('server '):
            return line[7:]
    return '-'


def conn_of(initial):
    for k, v in initial or ():
        if k == 'x-conn':
            return v
    return None


def do_call(q):
    ch, own = channel(q['to'][0], q.get('chan', [''])[0])
    method, md = q['method'][0], metadata(q)
    n = int(q.get('n', ['1'])[0])

    try:
        if n == 1 and 'brief' in q:
            return brief(*unary(ch, method, md)) + '\n'

        if n == 1:
            code, body, initial, trailing, details = unary(ch, method, md)
            out = ['code ' + code]
            if details:
                out.append('details ' + details)
            out.append(body.rstrip('\n')) if body else None
            out += md_lines('initial', initial) + md_lines('trailing',
                                                           trailing)
            return '\n'.join(out) + '\n'

        codes, servers = {}, {}
        for _ in range(n):
            code, body, _i, _t, _d = unary(ch, method, md)
            codes[code] = codes.get(code, 0) + 1
            if code == 'OK':
                s = server_of(body)
                servers[s] = servers.get(s, 0) + 1

        out = ['calls %d' % n]
        out += ['code %s %d' % (c, codes[c]) for c in sorted(codes)]
        out += expectations(q, n, servers)
        return '\n'.join(out) + '\n'
    finally:
        if own:
            ch.close()


def expectations(q, n, servers):
    if 'expect' not in q:
        return ['server %s %d' % (s, servers[s]) for s in sorted(servers)]

    tol = float(q.get('tol', ['0.05'])[0])
    want = [kv.split(':') for kv in q['expect'][0].split(',')]
    total = sum(int(w) for _, w in want)
    out = []

    for name, w in want:
        share = int(w) / total
        got = servers.get(name, 0)
        if abs(got / n - share) <= tol:
            out.append('%s within %d%% of %d%%' % (name, tol * 100,
                                                   share * 100))
        else:
            out.append('%s got %d of %d' % (name, got, n))

    for name in sorted(set(servers) - {w[0] for w in want}):
        out.append('%s unexpected %d' % (name, servers[name]))
    return out


def brief(code, body, initial, trailing, details):
    md = dict(list(initial or ()) + list(trailing or ()))
    if code != 'OK':
        return 'code %s details %s' % (code, details)
    return 'code OK server %s rule %s type %s' % (
        server_of(body), md.get('x-gamma-rule', '-'),
        md.get('x-gamma-route-type', '-'))


def do_seen(q):
    # what a server received since the last look, after a moment for
    # mirrors (they may arrive after the answer)
    time.sleep(float(q.get('wait', ['0.3'])[0]))
    with SEEN_LOCK:
        calls, SEEN[q['server'][0]][:] = list(SEEN[q['server'][0]]), []
    return ''.join(c + '\n' for c in calls) or 'nothing\n'


def do_stream(q):
    ch, own = channel(q['to'][0], q.get('chan', [''])[0])
    call = ch.unary_stream(q['method'][0])
    out = []

    try:
        for msg in call(q.get('n', ['3'])[0].encode(), metadata=metadata(q),
                        timeout=5):
            out.append(msg.decode())
        out.append('code OK')
    except grpc.RpcError as e:
        out.append('code %s' % e.code().name)
    finally:
        if own:
            ch.close()
    return '\n'.join(out) + '\n'


def do_bidi(q):
    ch, own = channel(q['to'][0], q.get('chan', [''])[0])
    call = ch.stream_stream(q['method'][0])
    n = int(q.get('n', ['3'])[0])
    replies = queue.Queue()
    out = []

    def requests():
        # the next message only goes once the echo of the last came back
        for i in range(n):
            yield ('ping %d' % (i + 1)).encode()
            if replies.get(timeout=5) is None:
                return

    try:
        for msg in call(requests(), metadata=metadata(q), timeout=10):
            out.append(msg.decode())
            replies.put(msg)
        out.append('code OK')
    except grpc.RpcError as e:
        replies.put(None)
        out.append('code %s' % e.code().name)
    finally:
        if own:
            ch.close()
    return '\n'.join(out) + '\n'


def do_change(q):
    ch, _ = channel(q['to'][0], q.get('chan', ['change'])[0])
    method, md = q['method'][0], metadata(q)

    code, body, initial, _t, _d = unary(ch, method, md)
    before, conn = server_of(body), conn_of(initial)
    root = q['_root'][0]
    os.rename(os.path.join(root, q['src'][0]), os.path.join(root, q['dst'][0]))

    after, same = before, 'yes'
    deadline = time.time() + 5

    while time.time() < deadline and after == before:
        time.sleep(0.05)
        code, body, initial, _t, _d = unary(ch, method, md)
        after = server_of(body)
        if conn_of(initial) != conn:
            same = 'no'

    return 'before %s\nafter %s\nsame connection %s\n' % (before, after,
                                                          same)


ACTIONS = {'/call': do_call, '/stream': do_stream, '/bidi': do_bidi,
           '/change': do_change, '/seen': do_seen}


class Gateway(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        action = ACTIONS.get(url.path)

        if action is None:
            self.answer(404, 'no such action %s\n' % url.path)
            return

        try:
            q = urllib.parse.parse_qs(url.query)
            q['_root'] = [self.headers.get('X-Root', '.')]
            self.answer(200, action(q))
        except Exception as e:              # the test shows what broke
            self.answer(500, 'gateway error: %r\n' % e)

    def answer(self, status, text):
        body = text.encode()
        self.send_response(status)
        self.send_header('Content-Type', 'text/plain')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class GatewayServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--server', action='append', default=[])
    ap.add_argument('--gateway', required=True)
    args = ap.parse_args()

    servers = [start_server(*s.split('=', 1)) for s in args.server]

    host, port = args.gateway.rsplit(':', 1)
    gw = GatewayServer((host, int(port)), Gateway)
    try:
        gw.serve_forever()
    finally:
        for s in servers:
            s.stop(0)


if __name__ == '__main__':
    main()
