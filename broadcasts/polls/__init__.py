"""Capacity polls: definitions (files and API), the dialogue's pure rules, results, exports."""
