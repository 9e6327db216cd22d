"""What every report shares (leaderboard, `judge-report`): the rule that names a model, the table and figure
model, and its rendering to Markdown, CSV, JSON, HTML and PNG/SVG. Imports only core and catalogue."""
