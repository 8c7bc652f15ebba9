"""Activity programmes: group sessions paid from a grant, and who attended."""
