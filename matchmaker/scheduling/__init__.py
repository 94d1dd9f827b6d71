"""The networking schedule in the app: build, edit, publish, re-plan, print and export."""
