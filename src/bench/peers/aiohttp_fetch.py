"""Fetches the URLs on stdin with aiohttp, C at a time, and writes the bodies to stdout.

The way a typical user writes it: one ClientSession whose connector is limited to C connections,
a semaphore of C around each request, and either asyncio.gather (ordered: every body is kept until
all are done, then written in input order) or asyncio.as_completed (unordered: each body written as
soon as it arrives).

    /usr/bin/python3 aiohttp_fetch.py -c 64 [--unordered] [--cafile cert.pem] < urls.txt > bodies
"""
import argparse
import asyncio
import ssl
import sys

import aiohttp


async def main(args):
    urls = [line.strip() for line in sys.stdin if line.strip()]
    out = sys.stdout.buffer
    ctx = ssl.create_default_context(cafile=args.cafile) if args.cafile else None
    sem = asyncio.Semaphore(args.concurrency)
    connector = aiohttp.TCPConnector(limit=args.concurrency, ssl=ctx if ctx else True)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def fetch(url):
            async with sem:
                async with session.get(url) as response:
                    response.raise_for_status()
                    return await response.read()

        if args.unordered:
            for next_done in asyncio.as_completed([fetch(u) for u in urls]):
                out.write(await next_done)
        else:
            for body in await asyncio.gather(*(fetch(u) for u in urls)):
                out.write(body)
    out.flush()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--concurrency", type=int, default=64)
    parser.add_argument("--unordered", action="store_true")
    parser.add_argument("--cafile")
    asyncio.run(main(parser.parse_args()))
