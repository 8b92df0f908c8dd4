#!/usr/bin/env python3
"""A loopback TCP proxy that looks, from the client's side, like a broker killed and restarted:
every --cut-every seconds it drops every open connection (requests in flight lose their answers)
and refuses new ones for --down seconds. check-against-tansu.sh uses it because Tansu keeps
memory only and so cannot be killed without losing everything; against Sluice the test kills the
worker itself. Stops by itself after --duration seconds and prints
{"ok", "cuts", "connections"}.
"""
import argparse
import asyncio
import json


async def main(a):
    host, port = a.to.rsplit(":", 1)
    conns, stats = set(), {"cuts": 0, "connections": 0}

    async def pipe(reader, writer):
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def handle(cr, cw):
        stats["connections"] += 1
        try:
            br, bw = await asyncio.open_connection(host, int(port))
        except OSError:
            cw.close()
            return
        pair = (cw, bw)
        conns.add(pair)
        await asyncio.gather(pipe(cr, bw), pipe(br, cw))
        conns.discard(pair)

    loop = asyncio.get_running_loop()
    end = loop.time() + a.duration
    while loop.time() < end:
        server = await asyncio.start_server(handle, "127.0.0.1", a.listen, reuse_address=True)
        await asyncio.sleep(min(a.cut_every, max(0.0, end - loop.time())))
        server.close()
        for cw, bw in list(conns):
            for w in (cw, bw):
                w.transport.abort()
        conns.clear()
        await server.wait_closed()
        if loop.time() < end:
            stats["cuts"] += 1
            await asyncio.sleep(a.down)
    print(json.dumps({"ok": True, **stats}), flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listen", type=int, required=True, help="port on 127.0.0.1")
    ap.add_argument("--to", required=True, help="host:port of the broker")
    ap.add_argument("--cut-every", type=float, default=3)
    ap.add_argument("--down", type=float, default=1)
    ap.add_argument("--duration", type=float, default=30)
    asyncio.run(main(ap.parse_args()))
