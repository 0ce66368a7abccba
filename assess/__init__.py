"""Council assessments: would the Deal work for this council, and at what cost?"""
