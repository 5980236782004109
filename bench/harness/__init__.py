"""The benchmark harness: measure commands side by side, locate the tools, render Markdown."""
