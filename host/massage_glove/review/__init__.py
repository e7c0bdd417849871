"""Session review: metrics, score, advice, HTML report and progress over sessions (docs/REVIEW.md)."""
