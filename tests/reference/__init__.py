"""Reference signals from published standards (EBU Tech 3341/3342, ITU-R BS.1770), made in code."""
