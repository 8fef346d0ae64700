"""Presentation: numbers, tables, figures and summaries drawn from the analysis layer's results."""
