"""The chaos campaign (issue: stability under Pi-class limits): plan, observe, judge, report."""
