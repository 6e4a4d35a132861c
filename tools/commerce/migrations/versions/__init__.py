"""The commerce tables' schema revisions, oldest first."""
