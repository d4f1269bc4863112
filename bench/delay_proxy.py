#!/usr/bin/env python3
"""A thin link on loopback: a TCP proxy that holds every chunk for half the delay in each
direction, so every request/response round trip (and the connection's first one, standing for
the TCP handshake) costs DELAY more, as a WAN link to a far registry does. Bandwidth is not
limited; order within a connection is kept.

    delay_proxy.py --listen PORT --upstream PORT [--delay-ms 50]
"""
import argparse
import asyncio


async def pipe(reader, writer, half_delay):
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def deliver():
        while True:
            due, data = await queue.get()
            if data is None:
                break
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        try:
            writer.write_eof()
        except (OSError, RuntimeError):
            pass

    sender = asyncio.create_task(deliver())
    try:
        while True:
            data = await reader.read(1 << 16)
            if not data:
                break
            queue.put_nowait((loop.time() + half_delay, data))
    except (ConnectionError, OSError):
        pass
    queue.put_nowait((0, None))
    try:
        await sender
    except (ConnectionError, OSError):
        pass


async def serve(args):
    half = args.delay_ms / 2000.0

    async def handle(client_reader, client_writer):
        await asyncio.sleep(2 * half)  # the handshake's round trip
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", args.upstream)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pipe(client_reader, upstream_writer, half), pipe(upstream_reader, client_writer, half))
        for writer in (client_writer, upstream_writer):
            try:
                writer.close()
            except OSError:
                pass

    server = await asyncio.start_server(handle, "127.0.0.1", args.listen)
    async with server:
        await server.serve_forever()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", type=int, required=True)
    parser.add_argument("--upstream", type=int, required=True)
    parser.add_argument("--delay-ms", type=float, default=50)
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
