"""t2v-internvl: VQAScore with the InternVL families (InternVL2, 2.5, 3, 3.5), for images and videos."""
