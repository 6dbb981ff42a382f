"""The dashboard's pages: static HTML, CSS and JS served by :mod:`quantmarl.serve.web`,
talking to the service's public API only (no build step, no Node toolchain)."""
