"""Reports on an experiment: a self-contained HTML page and a Jupyter notebook that reloads the store.

Headless: no Qt. matplotlib draws the plots (Agg), markdown-it-py renders notes with raw HTML turned off.
"""
