"""Reading the user's files: which files a build context sends (dockerignore).
"""
