"""The volunteer service (志愿服务): volunteers, teams, activities, hour records, certificates and totals."""
