// PanelHarness
