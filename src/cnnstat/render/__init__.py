"""Views -> Rich table | CSV | Markdown | JSON | plots. Never imports torch."""
